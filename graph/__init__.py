"""Everything Neo4j: the local server launcher, the driver, and the graph schema.

Import the submodules you need (``graph.server``, ``graph.driver``, ``graph.schema``); this
package imports nothing heavy on its own.
"""
