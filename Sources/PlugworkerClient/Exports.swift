// `import PlugworkerClient` is enough to use the library: JSON values
// (PlugworkerCore), signatures and the wire types (PlugworkerCelery) and the
// broker errors (PlugworkerBroker) come with it.
@_exported import PlugworkerBroker
@_exported import PlugworkerCelery
@_exported import PlugworkerCore
