import Crypto
import Foundation
import RegistryCore
import ServiceRuntime

/// The keyed digest under which national ID numbers are stored: HMAC-SHA256 with a secret that lives
/// outside the database. Equal numbers give equal digests (duplicates are found by a unique index);
/// a dump of the database alone does not give the numbers back, not even by trying every valid one.
public struct NationalIDDigest: Sendable {
    let key: SymmetricKey

    public init(secret: String) {
        key = SymmetricKey(data: Data(secret.utf8))
    }

    public func digest(_ id: NationalID) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Data(id.value.utf8), using: key))
    }
}

/// The registry's own settings, read once at start beside the runtime's.
public struct RegistrySettings: Sendable {
    /// `REGISTRY_ID_DIGEST_KEY`: the secret of the national ID digest (at least 32 characters). Changing
    /// it makes every stored digest unmatchable: it is set once per city.
    public var idDigestKey: String

    public static let variables = ["REGISTRY_ID_DIGEST_KEY"]

    public init(idDigestKey: String) {
        self.idDigestKey = idDigestKey
    }

    public init(reading environment: inout EnvironmentReader) {
        idDigestKey = environment.secret("REGISTRY_ID_DIGEST_KEY", minimumLength: 32)
    }
}
