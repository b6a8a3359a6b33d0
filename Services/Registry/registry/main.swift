import RegistryService
import ServiceRuntime

ServiceHost.runTasksOnEventLoops()
await RegistryService.main()
