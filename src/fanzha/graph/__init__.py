"""Graph intelligence: entity graph, case linking (串并案), gangs and card dealers, fund tracing
(资金流向溯源) and supervision models (法律监督模型). See docs/graph.md."""
