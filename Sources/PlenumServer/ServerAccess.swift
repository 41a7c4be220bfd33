import Logging
import NIOCore
import PlenumCore
import Synchronization

#if TLS
import NIOSSL
#endif

/// The server's current `ServerSecurity`, shared by every event loop and replaced as a whole on
/// reload; with it the TLS context built from its certificate.
///
/// Read once per handshake or HTTP request (a lock and a copy), never per pushed update: the
/// push path only asks each connection's `Identity`, when a channel is attached to it.
final class ServerAccess: Sendable {
    private struct State {
        var security: ServerSecurity
        #if TLS
        var tls: NIOSSLContext?
        #endif
    }

    private let state: Mutex<State>
    let failures: AuthFailureLog

    /// Holds `security` without a TLS context yet: `replace(with:)` builds it (the server does
    /// so when it starts, so a certificate problem is an error of `run()`).
    init(_ security: ServerSecurity, failures: AuthFailureLog) {
        var initial = security
        initial.tls = nil
        state = Mutex(State(security: initial))
        self.failures = failures
    }

    var security: ServerSecurity { state.withLock { $0.security } }

    var policy: AccessPolicy { state.withLock { $0.security.policy } }

    /// Replaces the policy and the allowed origins, and the TLS certificate when its files can
    /// be used; otherwise keeps the previous certificate and returns why (a bad certificate
    /// never holds back a revoked token).
    @discardableResult
    func replace(with security: ServerSecurity) -> ServerError? {
        #if TLS
        var problem: ServerError?
        var tls: NIOSSLContext?
        if let files = security.tls {
            do {
                tls = try Self.context(files)
            } catch {
                problem = error
            }
        }
        state.withLock { state in
            let previous = state
            state = State(security: security, tls: tls)
            if problem != nil {
                state.security.tls = previous.security.tls
                state.tls = previous.tls
            }
        }
        return problem
        #else
        var kept = security
        kept.tls = nil
        state.withLock { $0 = State(security: kept) }
        return security.tls == nil ? nil : ServerError.tlsUnsupported
        #endif
    }

    #if TLS
    /// The context new connections get (nil: plaintext).
    var tlsContext: NIOSSLContext? { state.withLock { $0.tls } }

    private static func context(_ files: ServerSecurity.TLSFiles) throws(ServerError) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificatePath)
            guard !chain.isEmpty else {
                throw ServerError.tls("\(files.certificatePath) holds no PEM certificate")
            }
            let key = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(key)
            )
            return try NIOSSLContext(configuration: configuration)
        } catch let error as ServerError {
            throw error
        } catch {
            throw ServerError.tls(
                "cannot use certificate \(files.certificatePath) with key \(files.privateKeyPath): \(error)"
            )
        }
    }
    #endif
}

/// Why the server cannot start or apply a reload, as a person can act on it.
public struct ServerError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }

    static func tls(_ problem: String) -> ServerError { ServerError("TLS: \(problem)") }

    static let tlsUnsupported = ServerError(
        "server.tls is set but this plenum was built without TLS (package trait TLS off); rebuild with the default traits or remove server.tls"
    )
}
