import PlenumCore
import PlenumLua

/// Placeholder until the device runtime lands.
public final class DeviceSupervisor {
    public init() {}
}
