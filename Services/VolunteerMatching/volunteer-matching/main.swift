import VolunteerMatchingService
import ServiceRuntime

ServiceHost.runTasksOnEventLoops()
await VolunteerMatchingService.main()
