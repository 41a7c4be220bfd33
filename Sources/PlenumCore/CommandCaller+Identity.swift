extension CommandCaller {
    /// The caller an authenticated identity writes as: its token's name in the audit, and its
    /// `write:` patterns deciding per channel (`anonymous` may write every writable channel).
    public init(_ identity: Identity) {
        self.init(name: identity.isAnonymous ? nil : identity.name) { identity.canWrite($0) }
    }
}
