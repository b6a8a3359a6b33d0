import MediationService
import ServiceRuntime

await ServiceHost.main(MediationService.descriptor)
