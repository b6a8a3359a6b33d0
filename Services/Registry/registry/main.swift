import RegistryService

await RegistryService.main()
