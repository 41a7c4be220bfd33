internal import CMosquitto
import Glibc
import PlenumCore

/// What libmosquitto reports, called on its network thread.
protocol MosquittoEvents: AnyObject, Sendable {
    /// CONNACK arrived; `code` 0 is success, anything else the broker's refusal.
    func connected(code: Int32)
    /// The connection ended (`code` 0: we asked for it); `systemError` is errno at the time.
    func disconnected(code: Int32, systemError: Int32)
    /// Message `mid` left (QoS 0: written to the socket) or was acknowledged (QoS 1: PUBACK).
    func published(mid: Int32)
    /// A message arrived on a subscribed topic.
    func received(topic: String, payload: [UInt8], retained: Bool)
    /// libmosquitto's own error and warning lines (they carry TLS and DNS reasons no callback
    /// gives), while not connected.
    func logged(level: MosquittoClient.LogLevel, message: String)
}

/// One libmosquitto client handle, driven by libmosquitto's network thread (`mosquitto_loop_start`).
///
/// `@unchecked Sendable` is safe: the handle is created in `init` and destroyed in `deinit`,
/// after `stopLoop()` has joined the network thread (no callback runs after that); in between,
/// only libmosquitto's thread-safe entry points are used from other threads (`publish`,
/// `subscribe`, `disconnect`, which take libmosquitto's own locks). `events` is not retained:
/// its owner keeps it alive for longer than this client.
final class MosquittoClient: @unchecked Sendable {
    enum LogLevel: Sendable {
        case error, warning
    }

    private let handle: OpaquePointer
    unowned let events: any MosquittoEvents
    private var loopStarted = false

    /// libmosquitto's global initialisation (OpenSSL, sockets), done once per process.
    private static let library: Int32 = mosquitto_lib_init()

    /// A client with identifier `clientID` and a clean session (nothing survives a reconnect on
    /// the broker's side: the bridge resends the latest of every channel instead). `mqtt5`
    /// selects MQTT 5 (needed for the subscription options of downstream writes), else 3.1.1.
    init(clientID: String, mqtt5: Bool, events: any MosquittoEvents) throws(BridgeError) {
        guard Self.library == MOSQ_ERR_SUCCESS.rawValue else {
            throw BridgeError(.library, "libmosquitto failed to initialise: \(Self.describe(Self.library))")
        }
        guard let handle = mosquitto_new(clientID, true, nil) else {
            throw BridgeError(.library, "libmosquitto could not create a client: \(SystemError("mosquitto_new"))")
        }
        self.handle = handle
        self.events = events
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, mqtt5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311)
        mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1)
        mosquitto_connect_callback_set(handle, onConnect)
        mosquitto_disconnect_callback_set(handle, onDisconnect)
        mosquitto_publish_callback_set(handle, onPublish)
        mosquitto_message_callback_set(handle, onMessage)
        listenToLog(true)
    }

    deinit {
        if loopStarted { mosquitto_loop_stop(handle, true) }
        mosquitto_destroy(handle)
    }

    /// Username and password for the CONNECT packet.
    func setCredentials(username: String?, password: Redacted?) throws(BridgeError) {
        let rc = mosquitto_username_pw_set(handle, username, password?.value)
        try check(rc, .credentials, "the username or password")
    }

    /// TLS with `caFile` (nil: the system's CA store) and an optional client certificate.
    func setTLS(caFile: String?, certFile: String?, keyFile: String?) throws(BridgeError) {
        if caFile == nil { mosquitto_int_option(handle, MOSQ_OPT_TLS_USE_OS_CERTS, 1) }
        let rc = mosquitto_tls_set(handle, caFile, nil, certFile, keyFile, nil)
        try check(rc, .tls, "the TLS files (CA \(caFile ?? "system"), cert \(certFile ?? "none"))")
    }

    /// The message the broker publishes for us if we vanish without a DISCONNECT.
    func setWill(topic: String, payload: String, qos: Int, retain: Bool) throws(BridgeError) {
        let bytes = Array(payload.utf8)
        let rc = mosquitto_will_set(handle, topic, Int32(bytes.count), bytes, Int32(qos), retain)
        try check(rc, .library, "the last will on \(topic)")
    }

    /// Reconnect delays: `minimum`, growing (quadratically, libmosquitto's "exponential") to `maximum`.
    func setReconnectDelay(minimum: Int, maximum: Int) {
        mosquitto_reconnect_delay_set(handle, UInt32(clamping: minimum), UInt32(clamping: maximum), true)
    }

    /// libmosquitto's own limit of QoS 1 messages in flight (ours is the outbox window).
    func setMaxInflight(_ count: Int) {
        mosquitto_max_inflight_messages_set(handle, UInt32(clamping: count))
    }

    /// Starts the network thread. Before `connect`: a broker that is down at start-up is then
    /// retried by that thread (with the reconnect delays) instead of never.
    func startLoop() throws(BridgeError) {
        let rc = mosquitto_loop_start(handle)
        try check(rc, .thread, "libmosquitto's network thread")
        loopStarted = true
    }

    /// Starts connecting (the network thread completes it, and retries). Returns nil or why the
    /// first attempt failed at once (the network thread keeps trying).
    func connect(host: String, port: Int, keepalive: Int) -> String? {
        let rc = mosquitto_connect_async(handle, host, Int32(clamping: port), Int32(clamping: keepalive))
        return rc == MOSQ_ERR_SUCCESS.rawValue ? nil : Self.describe(rc)
    }

    /// Hands a message to libmosquitto; returns its id, or the error.
    func publish(topic: UnsafePointer<CChar>, payload: [UInt8], qos: Int, retain: Bool) -> Result<Int32, PublishError> {
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { bytes in
            mosquitto_publish(handle, &mid, topic, Int32(bytes.count), bytes.baseAddress, Int32(qos), retain)
        }
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { return .failure(PublishError(code: rc)) }
        return .success(mid)
    }

    struct PublishError: Error {
        let code: Int32
        /// Not connected: try again after the reconnect.
        var isNotConnected: Bool { code == MOSQ_ERR_NO_CONN.rawValue || code == MOSQ_ERR_CONN_LOST.rawValue }
        var description: String { MosquittoClient.describe(code) }
    }

    /// Subscribes to `filter` (MQTT 5): without our own messages echoed back and without the
    /// retained messages already there (a stale command must not be replayed on connect).
    func subscribeWithoutRetainedOrLocal(_ filter: String, qos: Int) -> String? {
        let options = Int32(MQTT_SUB_OPT_NO_LOCAL.rawValue | MQTT_SUB_OPT_SEND_RETAIN_NEVER.rawValue)
        let rc = mosquitto_subscribe_v5(handle, nil, filter, Int32(qos), options, nil)
        return rc == MOSQ_ERR_SUCCESS.rawValue ? nil : Self.describe(rc)
    }

    /// libmosquitto formats a log line for every packet whenever a log callback is set: the
    /// bridge listens only while it is not connected (for the reasons a connection fails, such
    /// as TLS errors), not for every message of a connected session.
    func listenToLog(_ on: Bool) {
        mosquitto_log_callback_set(handle, on ? onLog : nil)
    }

    /// Sends DISCONNECT: the broker discards our will. The network thread then ends.
    func disconnect() {
        mosquitto_disconnect(handle)
    }

    /// Joins the network thread (after `disconnect()`, it ends promptly).
    func stopLoop() {
        guard loopStarted else { return }
        mosquitto_loop_stop(handle, false)
        loopStarted = false
    }

    private func check(_ rc: Int32, _ code: BridgeError.Code, _ what: String) throws(BridgeError) {
        guard rc != MOSQ_ERR_SUCCESS.rawValue else { return }
        throw BridgeError(code, "libmosquitto refused \(what): \(Self.describe(rc))")
    }

    /// libmosquitto's text for an error code; errno's for `MOSQ_ERR_ERRNO`.
    static func describe(_ rc: Int32, systemError: Int32 = errno) -> String {
        if rc == MOSQ_ERR_ERRNO.rawValue { return SystemError("connection", code: systemError).reason }
        return String(cString: mosquitto_strerror(rc))
    }

    /// Whether a disconnect code is the end of a connection the broker refused in its CONNACK
    /// (whose reason `describeConnack` words).
    static func isBrokerRefusal(_ rc: Int32) -> Bool {
        rc == MOSQ_ERR_CONN_REFUSED.rawValue
    }

    /// The broker's reason for refusing a CONNECT.
    static func describeConnack(_ code: Int32) -> String {
        String(cString: mosquitto_connack_string(code))
    }

    fileprivate static func from(_ userdata: UnsafeMutableRawPointer?) -> MosquittoClient? {
        userdata.map { Unmanaged<MosquittoClient>.fromOpaque($0).takeUnretainedValue() }
    }
}

// libmosquitto's callbacks: plain C functions (no captured context), the client as `userdata`.

private func onConnect(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ code: Int32) {
    MosquittoClient.from(userdata)?.events.connected(code: code)
}

private func onDisconnect(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ code: Int32) {
    let systemError = errno
    MosquittoClient.from(userdata)?.events.disconnected(code: code, systemError: systemError)
}

private func onPublish(_ handle: OpaquePointer?, _ userdata: UnsafeMutableRawPointer?, _ mid: Int32) {
    MosquittoClient.from(userdata)?.events.published(mid: mid)
}

private func onMessage(
    _ handle: OpaquePointer?,
    _ userdata: UnsafeMutableRawPointer?,
    _ message: UnsafePointer<mosquitto_message>?
) {
    guard let message = message?.pointee, let topic = message.topic else { return }
    var payload: [UInt8] = []
    if let bytes = message.payload, message.payloadlen > 0 {
        payload = Array(UnsafeRawBufferPointer(start: bytes, count: Int(message.payloadlen)))
    }
    MosquittoClient.from(userdata)?.events.received(
        topic: String(cString: topic),
        payload: payload,
        retained: message.retain
    )
}

private func onLog(
    _ handle: OpaquePointer?,
    _ userdata: UnsafeMutableRawPointer?,
    _ level: Int32,
    _ text: UnsafePointer<CChar>?
) {
    guard let text, level == MOSQ_LOG_ERR || level == MOSQ_LOG_WARNING else { return }
    let kind: MosquittoClient.LogLevel = level == MOSQ_LOG_ERR ? .error : .warning
    MosquittoClient.from(userdata)?.events.logged(level: kind, message: String(cString: text))
}
