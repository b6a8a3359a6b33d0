import MediationService

await MediationService.main()
