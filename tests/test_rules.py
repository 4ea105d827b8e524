"""Every node type has an entry in every rule table; a missing rule fails by name."""
import matcalc.printing.numpy as npp
import matcalc.printing.text as txt
from matcalc import expr as E
from matcalc.differential import RULES, missing_rules
from matcalc.numeric import EVAL_RULES


def test_every_node_has_a_differential_rule():
    assert missing_rules() == []
    assert set(RULES) >= set(E.NODE_TYPES)


def test_every_node_can_be_evaluated():
    assert set(EVAL_RULES) >= set(E.NODE_TYPES)


def test_every_node_can_be_printed():
    for printer in (txt.TextPrinter, txt.UnicodePrinter, txt.LatexPrinter, npp.NumpyPrinter):
        for t in E.NODE_TYPES:
            assert hasattr(printer, "_print_" + t.__name__), (printer.__name__, t.__name__)
