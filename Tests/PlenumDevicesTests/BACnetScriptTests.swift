import Foundation
import PlenumBACnet
import PlenumCore
import PlenumTestSupport
import Testing

/// `hub.bacnet` from a device script, against the bacpypes3 peer.
@Suite(.serialized) struct BACnetScriptTests {
    @Test func everyCallOfTheLuaAPI() async throws {
        do {
            let peer = try await offPool { try BACnetPeer(instance: 4300, period: 0.5) }
            defer { peer.kill() }
            let hub = DeviceHarness()
            let params: JSONValue = .object([
                "device": .integer(4300), "address": .string(peer.address), "broadcast": .string(peer.broadcast),
            ])
            await hub.supervisor.apply([
                DeviceHarness.spec("probe", script: "bacnet_probe.lua", params: params) {
                    $0.cpuGuardSeconds = 5
                    $0.stopGraceSeconds = 5
                }
            ])
            #expect(
                await hub.eventually(timeout: 30) { hub.value("/t/probe/done") == .bool(true) },
                "\(hub.log.entries)"
            )
            #expect(element(hub.value("/t/probe/who_is"), 0)?["device"] == .integer(4300))
            #expect(element(hub.value("/t/probe/who_is"), 0)?["address"] == .string(peer.address))
            #expect(hub.value("/t/probe/who_is_directed") == .integer(1))
            #expect(hub.value("/t/probe/ai_pv")?.numberValue.map { $0 >= 20 } == true)
            #expect(hub.value("/t/probe/ai_name") == .string("supply-temp"))
            #expect(hub.value("/t/probe/ai_flags") == .array([.bool(false), .bool(false), .bool(false), .bool(false)]))
            #expect(hub.value("/t/probe/ai_units") == .integer(62))
            #expect(hub.value("/t/probe/bv_pv") == .integer(1))
            #expect(hub.value("/t/probe/device_id") == .string("device:4300"))
            #expect(hub.value("/t/probe/pa") == .object(["count": .integer(16), "all_null": .bool(true)]))
            #expect(element(hub.value("/t/probe/rpm"), 0)?["value"] == .string("supply-temp"))
            #expect(element(hub.value("/t/probe/rpm"), 1)?["value"] == .double(21))
            #expect(element(hub.value("/t/probe/rpm"), 2)?["error"] == .string("property/unknown-property"))
            #expect(hub.value("/t/probe/after_write") == .double(55))
            #expect(hub.value("/t/probe/slot8") == .double(55))
            #expect(hub.value("/t/probe/after_relinquish") == .double(21))
            #expect(hub.value("/t/probe/slot8_null") == .bool(true))
            // The write and the relinquish as the peer saw them.
            #expect(peer.priorityArrays.contains { $0.count == 16 && $0[7] == 55 })
            #expect(peer.priorityArrays.last?.allSatisfy { $0 == nil } == true)

            let errors = hub.value("/t/probe/errors")
            func error(_ name: String) -> String { errors?[name]?.stringValue ?? "?" }
            #expect(error("bad_object").contains("bacnet read: bad argument 'object'"))
            #expect(error("bad_property").contains("bad argument 'property'"))
            #expect(error("bad_device").contains("bad argument 'device'"))
            #expect(error("bad_device").contains("got table"))
            #expect(error("bad_address").contains("'10.0.0.300:1' is neither"))
            #expect(error("bad_priority").contains("bacnet write: bad argument 'priority' (a priority 1…16 expected"))
            #expect(error("bad_value").contains("bad argument 'value'"))
            #expect(error("unknown_object").contains("bacnet: error: object/unknown-object"))
            #expect(error("bad_timeout").contains("bad argument 'timeout'"))
            #expect(error("bad_option").contains("option 'prot' is unknown"))
            #expect(error("bad_lifetime").contains("option 'lifetime' is unknown or invalid"))

            #expect(await hub.eventually(timeout: 15) { hub.value("/t/probe/done") == .bool(true) })
            #expect(hub.value("/t/probe/lease")?["lifetime"] == .integer(60))
            #expect(hub.value("/t/probe/lease")?["renew_in"] == .double(45))
            #expect(hub.value("/t/probe/notification")?["object"] == .string("analog-input:1"))
            #expect(hub.value("/t/probe/notification")?["confirmed"] == .bool(true))
            #expect(hub.value("/t/probe/notification")?["device"] == .integer(4300))
            #expect(hub.version("/t/probe/notification") == 2)

            // Blocked in next_notification(math.huge): a stop ends it at once.
            await hub.supervisor.stopAll()
            #expect(hub.value("/t/probe/stopped_with") == .string("stopping"))
            #expect(hub.status("probe")?["state"] == .string("stopped"))
            #expect(!hub.log.entries.contains { $0.contains("interrupting it") })
        }
    }
}

extension BACnetScriptTests {
    @Test func aScriptsSocketsCloseWhenItEnds() async throws {
        do {
            let port = try BACnetPeer.freeUDPPort()
            let hub = DeviceHarness()
            await hub.supervisor.apply([
                DeviceHarness.spec(
                    "opener",
                    script: "bacnet_open.lua",
                    params: .object(["port": .integer(Int64(port))])
                )
            ])
            #expect(await hub.eventually { hub.value("/t/opener/opened") == .integer(Int64(port)) })
            #expect(await hub.eventually { hub.status("opener")?["state"] == .string("stopped") })
            // The script returned without closing its client: the port is free again.
            let again = try BACnetClient(host: "127.0.0.1", port: port)
            #expect(again.localPort == port)
        }
    }
}

/// Element `index` of a JSON array.
func element(_ value: JSONValue?, _ index: Int) -> JSONValue? {
    guard case .array(let items)? = value, items.indices.contains(index) else { return nil }
    return items[index]
}
