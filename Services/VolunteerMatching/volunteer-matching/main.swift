import VolunteerMatchingService

await VolunteerMatchingService.main()
