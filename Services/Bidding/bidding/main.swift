import BiddingService

await BiddingService.main()
