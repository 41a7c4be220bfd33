public import PlenumConfig
import PlenumLua

/// `plenum check`'s second pass: every script the configuration names must compile. Nothing is
/// run: each script is loaded into a fresh Lua state (syntax only), as a reload does before it
/// swaps a device's script.
public enum ScriptCheck {
    /// A script that does not compile, as Lua reports it: `plugins/broken.lua:1: unexpected symbol near '='`.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// The script's path as printed: relative to the working directory, like the configuration's.
        public let script: String
        /// The devices that run it.
        public let devices: [String]
        /// `script:line: message` (Lua's own words).
        public let message: String

        public var description: String { message }
    }

    /// Compiles each distinct script of `config` once, in the order the devices name them.
    /// - Parameter configFile: the configuration's path as the user gave it; script paths in
    ///   messages start from the same place, so they can be opened from the same directory.
    public static func compileAll(_ config: HubConfig, configFile: String) -> [Problem] {
        var devicesByScript: [String: [String]] = [:]
        var order: [DeviceConfig] = []
        for device in config.devices {
            if devicesByScript[device.scriptPath] == nil { order.append(device) }
            devicesByScript[device.scriptPath, default: []].append(device.name)
        }
        var problems: [Problem] = []
        for device in order {
            let shown = displayPath(device.script, configFile: configFile)
            let devices = devicesByScript[device.scriptPath] ?? []
            // Lua shortens long chunk names in its messages; compile under the file's name (as
            // the device runner does) and put the whole path back in front.
            let chunk = String(device.script.split(separator: "/").last ?? Substring(device.script))
            do {
                try LuaState.compileCheck(try LuaState.readSource(device.scriptPath), chunkName: chunk)
            } catch {
                var message = error.summary
                if error.code == .load && message.hasPrefix("cannot read") {
                    message = "\(shown): cannot be read"
                } else if message.hasPrefix(chunk + ":") {
                    message = shown + message.dropFirst(chunk.count)
                }
                problems.append(Problem(script: shown, devices: devices, message: message))
            }
        }
        return problems
    }

    /// `plugins/a.lua` named in `conf/hub.yaml` is `conf/plugins/a.lua`; absolute paths stay.
    static func displayPath(_ script: String, configFile: String) -> String {
        if script.hasPrefix("/") { return script }
        guard let slash = configFile.lastIndex(of: "/") else { return script }
        return String(configFile[...slash]) + script
    }
}
