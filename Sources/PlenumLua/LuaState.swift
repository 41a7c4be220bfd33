internal import CLua

/// Placeholder until the Lua runtime lands.
public final class LuaState {
    public init() {}
}
