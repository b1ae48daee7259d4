# SPDX-License-Identifier: MIT
"""safer-ring generator: spec/*.yaml -> generated/.

The stages, each a module that calls only the ones before it:

  loader.py      YAML -> Node trees that keep every position (FILE:LINE:COL)
  schema.py      each node has the shape spec/schema.yaml gives
  build.py       ring.yaml's tables, and the checks across ops (names,
  build_op.py    numbers, op ids, kernels, fallback links); one op entry
  cexpr.py       the C text of the spec: identifiers checked against headers
  model.py       the result: plain dataclasses of facts
  plan.py        routes, SQE conversions, the conformance test's plan
  conformance.py   (sample values; oracle.py: the independent SQE tables)
  cnames.py      every C spelling, and the views templates see the model through
  render.py      one template per output, written all or nothing
  cli.py         the command line running them in order

errors.py holds Loc and SpecError, which every stage raises.
"""

# Bump when the generated code's contract with runtime/ changes; the runtime
# header defines SR_GEN_ABI and generated headers refuse a mismatch.
GEN_ABI = 2
