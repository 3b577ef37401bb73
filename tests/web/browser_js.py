"""Browser-side checks the web lab's real-browser tests wait on (Playwright `wait_for_function`
arguments): a graph holding data at a data revision, a graph's revision, a message's text."""

GRAPH_READY = """([graph, revision]) => {
  const gd = window.losslab && window.losslab.plotDiv(graph);
  return !!(gd && gd._fullData && gd._fullData.length > 1 && gd.layout
            && gd.layout.datarevision >= revision);
}"""
REVISION = "(graph) => window.losslab.plotDiv(graph).layout.datarevision"
MESSAGE_HAS = "([id, text]) => document.getElementById(id).textContent.includes(text)"
