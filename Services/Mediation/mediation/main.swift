import MediationService
import ServiceRuntime

ServiceHost.runTasksOnEventLoops()
await MediationService.main()
