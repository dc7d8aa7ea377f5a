"""Shell arithmetic, `$((…))`: C integer semantics over the shell's variables.

Tokenized once per distinct text (cached: loops evaluate the same `$((i + 1))` on every iteration) and
evaluated by precedence climbing. Variables are read and assigned through the callables the interpreter
passes in, so reads are seen by its steady-loop bookkeeping like any other variable read.
"""
from __future__ import annotations

import re
from collections.abc import Callable

_ARITH_TOKEN = re.compile(r"\s*(?:(0[xX][0-9a-fA-F]+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|"
                          r"(\+\+|--|\*\*|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|[-+*/%()<>=!~?:&|^,]))")


class _ArithError(Exception):
    pass


_ARITH_OPS: dict[str, Callable[[int, int], int]] = {
    "||": lambda a, b: int(bool(a) or bool(b)), "&&": lambda a, b: int(bool(a) and bool(b)),
    "|": lambda a, b: a | b, "^": lambda a, b: a ^ b, "&": lambda a, b: a & b, "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b), "<": lambda a, b: int(a < b), "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b), ">=": lambda a, b: int(a >= b), "<<": lambda a, b: a << min(b, 4096),
    ">>": lambda a, b: a >> b, "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "**": lambda a, b: a ** b}
_arith_cache: dict[str, list[tuple[str, str]]] = {}


def _arith_tokens(text: str) -> list[tuple[str, str]]:
    tokens = _arith_cache.get(text)
    if tokens is not None:
        return tokens
    tokens = []
    pos = 0
    stripped = text.strip()
    while pos < len(stripped):
        m = _ARITH_TOKEN.match(stripped, pos)
        if not m or m.end() == pos:
            raise _ArithError("arithmetic syntax error")
        pos = m.end()
        if m.group(1):
            tokens.append(("num", m.group(1)))
        elif m.group(2):
            tokens.append(("name", m.group(2)))
        elif m.group(3):
            tokens.append(("op", m.group(3)))
    if len(_arith_cache) > 1024:
        _arith_cache.clear()
    _arith_cache[text] = tokens
    return tokens


def _arith(text: str, get: Callable[[str], str], put: Callable[[str, str], None]) -> int:
    """Shell arithmetic ($((…))): C integer semantics, variables by bare name."""
    tokens = _arith_tokens(text)
    i = 0

    def peek() -> tuple[str, str] | None:
        return tokens[i] if i < len(tokens) else None

    def value_of(name: str) -> int:
        raw = get(name).strip()
        if not raw:
            return 0
        try:
            return int(raw, 0) if not re.fullmatch(r"0\d+", raw) else int(raw, 8)
        except ValueError:
            raise _ArithError("arithmetic syntax error") from None

    def num(tok: str) -> int:
        if tok.lower().startswith("0x"):
            return int(tok, 16)
        if len(tok) > 1 and tok.startswith("0"):
            return int(tok, 8)
        return int(tok)

    binary = [["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", "<=", ">", ">="], ["<<", ">>"],
              ["+", "-"], ["*", "/", "%"]]

    def apply(op: str, a: int, b: int) -> int:
        if op in ("/", "%"):
            if b == 0:
                raise _ArithError("divide by zero")
            q = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)   # C truncation
            return q if op == "/" else a - q * b
        if op == "**" and b > 4096:
            raise _ArithError("arithmetic overflow")
        return _ARITH_OPS[op](a, b)

    def expr() -> int:          # assignment and ternary (lowest precedence)
        nonlocal i
        if i + 1 < len(tokens) and tokens[i][0] == "name" and tokens[i + 1][0] == "op" and \
                tokens[i + 1][1] in ("=", "+=", "-=", "*=", "/=", "%="):
            name, op = tokens[i][1], tokens[i + 1][1]
            i += 2
            rhs = expr()
            result = rhs if op == "=" else apply(op[0], value_of(name), rhs)
            put(name, str(result))
            return result
        cond = level(0)
        if peek() == ("op", "?"):
            i += 1
            a = expr()
            if peek() != ("op", ":"):
                raise _ArithError("arithmetic syntax error")
            i += 1
            b = expr()
            return a if cond else b
        return cond

    def level(n: int) -> int:
        nonlocal i
        if n == len(binary):
            return power()
        left = level(n + 1)
        while peek() is not None and peek()[0] == "op" and peek()[1] in binary[n]:
            op = tokens[i][1]
            i += 1
            left = apply(op, left, level(n + 1))
        return left

    def power() -> int:
        nonlocal i
        base = unary()
        if peek() == ("op", "**"):
            i += 1
            return apply("**", base, power())
        return base

    def unary() -> int:
        nonlocal i
        tok = peek()
        if tok is None:
            raise _ArithError("arithmetic syntax error")
        if tok[0] == "op" and tok[1] in ("-", "+", "!", "~"):
            i += 1
            v = unary()
            return {"-": -v, "+": v, "!": int(not v), "~": ~v}[tok[1]]
        if tok[0] == "op" and tok[1] in ("++", "--") and i + 1 < len(tokens) and tokens[i + 1][0] == "name":
            name = tokens[i + 1][1]
            i += 2
            v = value_of(name) + (1 if tok[1] == "++" else -1)
            put(name, str(v))
            return v
        if tok == ("op", "("):
            i += 1
            v = expr()
            if peek() != ("op", ")"):
                raise _ArithError("arithmetic syntax error")
            i += 1
            return v
        if tok[0] == "num":
            i += 1
            return num(tok[1])
        if tok[0] == "name":
            i += 1
            v = value_of(tok[1])
            if peek() in (("op", "++"), ("op", "--")):
                put(tok[1], str(v + (1 if tokens[i][1] == "++" else -1)))
                i += 1
            return v
        raise _ArithError("arithmetic syntax error")

    if not tokens:
        return 0
    result = expr()
    if i != len(tokens):
        raise _ArithError("arithmetic syntax error")
    return result
