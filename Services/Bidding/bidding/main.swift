import BiddingService
import ServiceRuntime

await ServiceHost.main(BiddingService.descriptor)
