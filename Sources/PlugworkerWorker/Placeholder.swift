// PlugworkerWorker: under construction.
