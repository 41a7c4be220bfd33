import Logging
import NIOCore
import PlenumCore

/// Authentication by first message, and what a reload of the policy does to open connections.
extension PushScheduler {
    /// How long a connection that opened without a token has to send `{"op":"auth"}`.
    static let authDeadline = TimeAmount.seconds(5)

    /// A connection that opened without a token (a browser that cannot set headers): nothing is
    /// delivered to it until a valid `{"op":"auth","token":…}`; without one within
    /// `authDeadline` it is closed with 4001.
    func awaitAuthentication(_ connection: PushConnection) {
        eventLoop.assumeIsolated().scheduleTask(in: Self.authDeadline) { [self] in
            guard connection.identity == nil, !connection.isClosing else { return }
            logger.debug("closing unauthenticated connection", metadata: ["ws.connection.id": "\(connection.id)"])
            metrics.accessClose(.unauthorized)
            connection.close(.unauthorized, reason: "no auth message within 5 s", allocator: allocator)
        }
    }

    /// A message from a connection that has not authenticated: it must be `auth` with a valid
    /// token, or the connection is closed with 4001. True when the connection is now
    /// authenticated (and has had its `welcome`).
    func authenticate(_ connection: PushConnection, message text: [UInt8], from address: String) -> Bool {
        guard case .success(.auth(let token, _)) = ClientRequest.parse(text, maxChannels: 0) else {
            refuse(connection, reason: #"authenticate first: send {"op":"auth","token":"…"}"#)
            return false
        }
        guard case .identified(let identity) = RequestAccess.authenticate(token, policy: access.policy) else {
            access.failures.record(from: address)
            refuse(connection, reason: "unknown token")
            return false
        }
        connection.authenticate(as: identity)
        logger.debug(
            "websocket authenticated",
            metadata: ["ws.connection.id": "\(connection.id)", "auth.token": "\(identity.name)"]
        )
        welcome(connection)
        return true
    }

    /// Closes `connection` with 4001 (no valid token).
    func refuse(_ connection: PushConnection, reason: String) {
        metrics.accessClose(.unauthorized)
        logger.debug(
            "closing connection without a valid token",
            metadata: ["ws.connection.id": "\(connection.id)", "reason": "\(reason)"]
        )
        connection.close(.unauthorized, reason: reason, allocator: allocator)
    }

    /// A reload replaced the policy: a connection whose token is gone is closed with 4003
    /// (`token revoked`), and so is one whose token's grant changed (`access changed`: it
    /// reconnects, and may resume, under the new grant). Connections still authenticating use
    /// the new policy when their `auth` message arrives.
    func apply(_ policy: AccessPolicy) {
        for connection in connections.values where !connection.isClosing {
            guard let identity = connection.identity else { continue }
            let current = policy.current(identity)
            if current == identity { continue }
            let reason = current == nil ? "token revoked" : "access changed; reconnect"
            metrics.accessClose(.revoked)
            logger.info(
                "closing connection: \(reason)",
                metadata: ["ws.connection.id": "\(connection.id)", "auth.token": "\(identity.name)"]
            )
            connection.close(.revoked, reason: reason, allocator: allocator)
        }
    }
}
