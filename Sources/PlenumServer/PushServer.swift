import NIOCore
import PlenumCore

/// Placeholder until the push core lands.
public final class PushServer {
    public init() {}
}
