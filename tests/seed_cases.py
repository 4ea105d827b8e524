"""The derivation exercises of the course material (../shared/problems/seed_problems.md).

Each case: (number, expression, wrt, declarations, expected answer or None).
An expected answer is the gradient, the Jacobian (vector f), or the differential
(matrix-valued f), in matcalc notation.
"""

SEED_CASES = [
    (1, "x^2", "x", {"scalar": "x"}, "2 x"),
    (2, "a^T x", "x", {}, "a"),
    (3, "x^T A x", "x", {}, "(A + A^T) x"),
    (4, "ln(x^T A x)", "x", {}, "(A + A^T) x / (x^T A x)"),
    (5, "a^T X A X a", "X", {}, "a a^T X^T A^T + A^T X^T a a^T"),
    (6, "x x^T x", "x", {}, "x^T x I + 2 x x^T"),
    (7, "X^-1", "X", {}, "-X^-1 dX X^-1"),
    (8, "det X", "X", {}, "det(X) X^-T"),
    (9, "tr X", "X", {}, "I"),
    (10, "tr(A X B)", "X", {}, "A^T B^T"),
    (11, "tr(A X^T X)", "X", {}, "X (A + A^T)"),
    (12, "ln det X", "X", {}, "X^-T"),
    (13, "tr(A X^T X B X^-T)", "X", {}, None),
    (14, "det(X^T A X)", "X", {}, "det(X^T A X) (A X (X^T A X)^-1 + A^T X (X^T A^T X)^-1)"),
    (15, "x^T A b", "x", {}, "A b"),
    (16, "x^T A b", "A", {}, "x b^T"),
    (17, "(y - X w)^T (y - X w)", "w", {}, "-2 X^T (y - X w)"),
    (18, "(y - X w)^T (y - X w) + lambda w^T w", "w", {}, "2 X^T (X w - y) + 2 lambda w"),
    (19, "sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w", {},
     "-X^T (y .* sigmoid(-y .* (X w))) + 2 lambda w"),
    (20, "-n/2 ln det S - 1/2 tr(S^-1 M)", "S", {"symmetric": "S,M", "scalar": "n"},
     "-n/2 S^-1 + 1/2 S^-1 M S^-1"),
    (21, "tr((X - A)^T (X - A))", "X", {}, "2 (X - A)"),
]
