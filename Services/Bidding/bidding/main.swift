import BiddingService
import ServiceRuntime

ServiceHost.runTasksOnEventLoops()
await BiddingService.main()
