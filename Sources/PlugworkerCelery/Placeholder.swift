// PlugworkerCelery: under construction.
