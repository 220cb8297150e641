// PlugworkerPool: under construction.
