#ifndef CITY_CRDKAFKA_SHIM_H
#define CITY_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#endif
