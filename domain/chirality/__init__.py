"""The chirality pipeline: canonical matrices, the computation graph, resolvers, artifacts.

Nothing heavy is imported here: the openai client and jsonschema are imported by the
modules that use them, when they use them.
"""
