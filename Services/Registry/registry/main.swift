import RegistryService
import ServiceRuntime

await ServiceHost.main(RegistryService.descriptor)
