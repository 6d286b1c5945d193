"""RTL synthesis with Yosys (`dna-hwgen synth`): the xc7 and asic flows, their reports
next to the cost model's figures (docs/synth.md)."""
