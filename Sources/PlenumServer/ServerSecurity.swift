public import PlenumCore

/// Who may connect and how: the access policy, the browser origins allowed to open a
/// WebSocket, and the TLS certificate. Given to `PushServer` at start and replaced on reload
/// (`PushServer.reloadSecurity(_:)`); docs/security.md describes each part.
public struct ServerSecurity: Sendable, Equatable {
    /// PEM files of a certificate chain and its private key.
    public struct TLSFiles: Sendable, Equatable {
        public var certificatePath: String
        public var privateKeyPath: String

        public init(certificatePath: String, privateKeyPath: String) {
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
        }
    }

    public var policy: AccessPolicy
    /// Origins (`https://host:port` as browsers send them, lower case; `null`; `*` for any)
    /// allowed to open a WebSocket besides pages from the hub's own host.
    public var allowedOrigins: [String]
    /// Serve HTTPS and `wss://` with these files; nil serves plaintext.
    public var tls: TLSFiles?

    public init(policy: AccessPolicy = .anonymous, allowedOrigins: [String] = [], tls: TLSFiles? = nil) {
        self.policy = policy
        self.allowedOrigins = allowedOrigins
        self.tls = tls
    }

    /// Whether this build can serve TLS (the package trait `TLS`).
    public static var supportsTLS: Bool {
        #if TLS
        true
        #else
        false
        #endif
    }
}
