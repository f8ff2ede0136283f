#!/usr/bin/env python3
"""Random valid .nn models for the differential test (docs/testing.md,
"Differential testing on random models").

generate(seed) returns the text of one model: a random DAG over the
language's layers and primitives (small shapes: rank <= 4, dims <= 9),
with reuse of values and of layers, broadcasting, the attribute ranges the
shape rules accept, and (usually) a loss and a random train block. The
generator is constructive: it tracks every shape, so each model should pass
`netc check`; a rejection is a bug here. Values stay finite on inputs in
[-1, 1]: log, sqrt and pow get positive arguments, division a denominator
>= 0.5. No op reduces, transposes or slices the batch axis, so every
inference output row depends on its own example only (the batch-split oracle
relies on it).

    generate.py SEED [COUNT] [--out DIR]   writes DIR/case-SEED.nn ... (or prints one)
"""
import math
import random
import sys

MAX_DIM = 9


class Model:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.seed = seed
        self.lines = []
        self.pool = []  # (name, shape without the batch axis)
        self.count = 0
        self.layer_names = {}  # name=... reuse: layer name -> (kind, in_shape, out_shape, call)
        self.params = 0

    def fresh(self):
        self.count += 1
        return f"t{self.count}"

    def emit(self, expr, shape):
        name = self.fresh()
        self.lines.append(f"{name} = {expr}")
        self.pool.append((name, tuple(shape)))
        return name, tuple(shape)

    def pick(self, pred=lambda s: True):
        # Recent values are likelier: chains grow deep, older values get reused.
        cands = [p for p in self.pool if pred(p[1])]
        if not cands:
            return None
        weights = [1 + i for i in range(len(cands))]
        return self.r.choices(cands, weights)[0]

    def param(self, shape, init="normal(0.5)"):
        self.params += 1
        name = f"p{self.params}"
        dims = ", ".join(str(d) for d in shape)
        self.lines.append(f"param {name} : f32[{dims}] = {init}")
        return name


def fmt_num(x):
    return f"{x:.3g}"


def conv_out(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


# Each op: (applies to shape?, emit function). Shapes exclude the batch axis.
def op_unary(m, x, s):
    r = m.r
    f = r.choice(["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "relu6",
                  "hard_sigmoid", "hard_swish", "abs", "exp", "log", "sqrt", "pow", "erf",
                  "neg"])
    if f == "leaky_relu":
        e = f"leaky_relu({x}, alpha={fmt_num(r.uniform(0.01, 0.5))})"
    elif f == "elu":
        e = f"elu({x}, alpha={fmt_num(r.uniform(0.1, 2))})"
    elif f == "gelu":
        e = f"gelu({x}, approximate={r.choice(['none', 'tanh'])})"
    elif f == "exp":
        e = f"exp(tanh({x}))"
    elif f == "log":
        e = f"log(abs({x}) + 0.5)"
    elif f == "sqrt":
        e = f"sqrt(abs({x}) + 0.1)"
    elif f == "pow":
        e = f"pow(abs({x}) + 0.5, {r.choice(['2', '0.5', '3', '1.5'])})"
    elif f == "neg":
        e = f"-{x}"
    else:
        e = f"{f}({x})"
    return m.emit(e, s)


def broadcast_operand(m, s):
    """Another operand broadcasting against [batch, *s]: a pool value of the
    same or a broadcastable shape, a param of a suffix shape, or a number."""
    r = m.r
    choice = r.random()
    same = m.pick(lambda t: t == s)
    if choice < 0.35 and same:
        return same[0]
    if choice < 0.75 and s:
        k = r.randint(1, len(s))
        shape = list(s[len(s) - k:])
        # Broadcast some axes inside the param too (size 1).
        shape = [1 if r.random() < 0.3 else d for d in shape]
        return m.param(shape, r.choice(["normal(0.5)", "uniform(1)", "ones", "xavier"]))
    return fmt_num(r.uniform(-2, 2))


def op_binary(m, x, s):
    r = m.r
    y = broadcast_operand(m, s)
    f = r.choice(["+", "-", "*", "/", "max", "min"])
    if f == "/":
        e = f"{x} / (abs({y}) + 0.5)"
    elif f in ("max", "min"):
        e = f"{f}({x}, {y})" if not y[0] in "-0123456789" else f"{f}({x}, {x} * {y})"
    else:
        e = f"{x} {f} {y}"
    return m.emit(e, s)


def op_dropout(m, x, s):
    return m.emit(f"dropout({x}, keep={fmt_num(m.r.uniform(0.5, 1.0))})", s)


def op_softmax(m, x, s):
    # Not over an axis of size 1: the result is a constant (1 or 0) whose
    # gradient is exactly 0 in double and rounding noise in f32, which
    # rmsprop and adam then divide by its own square root, turning noise
    # into a full step (tests/regressions/001 keeps a forward instance).
    axes = [a for a in range(1, len(s) + 1) if s[a - 1] > 1]
    if not axes:
        return None
    f = m.r.choice(["softmax", "log_softmax"])
    axis = m.r.choice(axes)
    if axis == len(s) and m.r.random() < 0.5:
        axis = -1
    return m.emit(f"{f}({x}, axis={axis})", s)


def op_reduce(m, x, s):
    r = m.r
    f = r.choice(["sum", "mean", "max", "min"])
    axis = r.randint(1, len(s))
    keep = r.random() < 0.4
    out = list(s)
    if keep:
        out[axis - 1] = 1
    else:
        del out[axis - 1]
    extra = ", keepdims=true" if keep else ""
    return m.emit(f"{f}({x}, axis={axis}{extra})", out)


def op_layernorm(m, x, s):
    if len(s) >= 2 and m.r.random() < 0.4:
        return m.emit(f"layernorm({x}, axes=(-2, -1), eps={fmt_num(m.r.choice([1e-5, 1e-3]))})", s)
    return m.emit(f"layernorm({x})", s)


def op_transpose(m, x, s):
    perm = list(range(1, len(s) + 1))
    m.r.shuffle(perm)
    out = [s[p - 1] for p in perm]
    return m.emit(f"transpose({x}, (0, {', '.join(map(str, perm))}))", out)


def op_slice(m, x, s):
    r = m.r
    axis = r.randint(1, len(s))
    n = s[axis - 1]
    start = r.randint(0, n - 1)
    end = r.randint(start + 1, n)
    out = list(s)
    out[axis - 1] = end - start
    return m.emit(f"slice({x}, axis={axis}, start={start}, end={end})", out)


def op_concat(m, x, s):
    r = m.r
    axis = r.randint(1, len(s))
    others = [p for p in m.pool
              if len(p[1]) == len(s) and all(a == b for i, (a, b) in enumerate(zip(p[1], s))
                                             if i != axis - 1)]
    y, ys = r.choice(others)
    if s[axis - 1] + ys[axis - 1] > MAX_DIM:
        y, ys = x, s
        if 2 * s[axis - 1] > MAX_DIM:
            return None
    out = list(s)
    out[axis - 1] = s[axis - 1] + ys[axis - 1]
    return m.emit(f"concat({x}, {y}, axis={axis})", out)


def factorizations(n, rank):
    if rank == 1:
        return [[n]] if n <= MAX_DIM else []
    out = []
    for d in range(1, min(n, MAX_DIM) + 1):
        if n % d == 0:
            out += [[d] + rest for rest in factorizations(n // d, rank - 1)]
    return out


def op_reshape(m, x, s):
    n = math.prod(s)
    shapes = [f for rank in (1, 2, 3) for f in factorizations(n, rank)]
    if not shapes:
        return None
    out = m.r.choice(shapes)
    if m.r.random() < 0.3 and len(out) <= 3:
        return m.emit(f"reshape({x}, (batch, {', '.join(map(str, out))}))", out)
    if n > 60:
        return None
    return m.emit(f"flatten({x})" if len(s) > 1 else f"reshape({x}, (batch, {n}))", [n])


def layer_name(m, kind, call_in, call_out, make):
    """Sometimes reuse an earlier layer of the same signature (shared weights)."""
    key = (kind, call_in, call_out)
    for name, k in m.layer_names.items():
        if k == key and m.r.random() < 0.5:
            return f", name={name}"
    if m.r.random() < 0.3:
        name = f"{kind}_{len(m.layer_names) + 1}"
        m.layer_names[name] = key
        return f", name={name}"
    return ""


def op_dense(m, x, s):
    r = m.r
    units = r.randint(1, MAX_DIM)
    init = r.choice(["he", "xavier", "glorot", "small", "normal(0.3)", "uniform(0.5)"])
    bias = "" if r.random() < 0.7 else ", bias=false"
    frozen = ", frozen=true" if r.random() < 0.1 else ""
    named = layer_name(m, "dense", (s, bias, frozen), units, None)
    return m.emit(f"dense({x}, {units}, init={init}{bias}{frozen}{named})", list(s[:-1]) + [units])


def op_matmul(m, x, s):
    units = m.r.randint(1, MAX_DIM)
    w = m.param([s[-1], units], m.r.choice(["xavier", "he", "normal(0.3)"]))
    return m.emit(f"matmul({x}, {w})", list(s[:-1]) + [units])


def op_self_matmul(m, x, s):
    """x x^T over the last two axes (attention scores): a batched matmul
    whose both operands are activations, leading axes batched."""
    perm = list(range(len(s) + 1))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    t = f"transpose({x}, ({', '.join(map(str, perm))}))"
    scale = fmt_num(1 / math.sqrt(s[-1]))
    return m.emit(f"matmul({x}, {t}) * {scale}", list(s[:-1]) + [s[-2]])


def op_batchnorm(m, x, s):
    r = m.r
    extra = ""
    if r.random() < 0.5:
        extra += f", eps={fmt_num(r.choice([1e-5, 1e-3, 0.1]))}"
    if r.random() < 0.5:
        extra += f", momentum={fmt_num(r.uniform(0.5, 0.99))}"
    return m.emit(f"batchnorm({x}{extra})", s)


def op_conv(m, x, s):
    r = m.r
    c, h, w = s
    for _ in range(20):
        kh, kw = r.randint(1, 3), r.randint(1, 3)
        sh, sw = r.randint(1, 2), r.randint(1, 2)
        dh, dw = r.randint(1, 2), r.randint(1, 2)
        ph, pw = r.randint(0, kh - 1 if kh > 1 else 0), r.randint(0, kw - 1 if kw > 1 else 0)
        groups = r.choice([g for g in range(1, c + 1) if c % g == 0])
        filters = groups * r.randint(1, max(1, MAX_DIM // groups))
        oh, ow = conv_out(h, kh, sh, ph, dh), conv_out(w, kw, sw, pw, dw)
        if oh >= 1 and ow >= 1 and filters <= MAX_DIM:
            break
    else:
        return None
    args = f"{x}, {filters}, kernel=({kh}, {kw}), stride=({sh}, {sw}), pad=({ph}, {pw})"
    if dh > 1 or dw > 1:
        args += f", dilation=({dh}, {dw})"
    if groups > 1:
        args += f", groups={groups}"
    if r.random() < 0.2:
        args += ", bias=false"
    return m.emit(f"conv2d({args})", [filters, oh, ow])


def op_deconv(m, x, s):
    r = m.r
    c, h, w = s
    for _ in range(20):
        k = r.randint(1, 3)
        st = r.randint(1, 2)
        p = r.randint(0, k - 1)
        op = r.randint(0, st - 1)
        filters = r.randint(1, 4)
        o_h = (h - 1) * st - 2 * p + (k - 1) + op + 1
        o_w = (w - 1) * st - 2 * p + (k - 1) + op + 1
        # The conv2d this transposes must map something onto x: the output
        # without its output_padding is not empty.
        if op < o_h <= MAX_DIM and op < o_w <= MAX_DIM:
            extra = f", output_padding={op}" if op else ""
            return m.emit(f"conv2d_transpose({x}, {filters}, kernel={k}, stride={st}, pad={p}{extra})",
                          [filters, o_h, o_w])
    return None


def op_pool(m, x, s):
    r = m.r
    c, h, w = s
    f = r.choice(["maxpool", "avgpool", "global_avgpool"])
    if f == "global_avgpool":
        return m.emit(f"global_avgpool({x})", [c])
    for _ in range(20):
        k = r.randint(1, 3)
        st = r.randint(1, 3)
        p = r.randint(0, k - 1)
        oh, ow = conv_out(h, k, st, p, 1), conv_out(w, k, st, p, 1)
        if oh >= 1 and ow >= 1:
            extra = ""
            if f == "avgpool" and r.random() < 0.5:
                extra = ", count_include_pad=true"
            return m.emit(f"{f}({x}, kernel={k}, stride={st}, pad={p}{extra})", [c, oh, ow])
    return None


def op_upsample(m, x, s):
    c, h, w = s
    fh, fw = m.r.randint(1, 2), m.r.randint(1, 3)
    if h * fh > MAX_DIM or w * fw > MAX_DIM:
        return None
    mode = m.r.choice(["nearest", "bilinear"])
    return m.emit(f"upsample({x}, ({fh}, {fw}), mode={mode})", [c, h * fh, w * fw])


def op_recurrent(m, x, s):
    r = m.r
    t, f = s
    kind = r.choice(["lstm", "gru", "rnn"])
    units = r.randint(1, 4)
    args = f"{x}, {units}"
    if kind == "rnn" and r.random() < 0.5:
        args += ", activation=relu"
    direction = r.random()
    width = units
    if direction < 0.25:
        args += ", bidirectional=true"
        width = 2 * units
    elif direction < 0.5:
        args += ", reverse=true"
    if r.random() < 0.5:
        return m.emit(f"{kind}({args}, return=sequence)", [t, width])
    return m.emit(f"{kind}({args})", [width])


OPS = [
    (lambda s: True, op_unary, 5),
    (lambda s: True, op_binary, 4),
    (lambda s: True, op_dropout, 1),
    (lambda s: True, op_softmax, 1),
    (lambda s: len(s) >= 2, op_reduce, 1),
    (lambda s: True, op_layernorm, 1),
    (lambda s: len(s) >= 2, op_transpose, 1),
    (lambda s: True, op_slice, 1),
    (lambda s: True, op_concat, 1),
    (lambda s: True, op_reshape, 1),
    (lambda s: True, op_dense, 3),
    (lambda s: len(s) in (2, 3), op_self_matmul, 1),
    (lambda s: len(s) in (1, 2), op_matmul, 1),
    (lambda s: len(s) in (1, 3), op_batchnorm, 2),
    (lambda s: len(s) == 3, op_conv, 4),
    (lambda s: len(s) == 3, op_deconv, 1),
    (lambda s: len(s) == 3, op_pool, 2),
    (lambda s: len(s) == 3, op_upsample, 1),
    (lambda s: len(s) == 2, op_recurrent, 1),
]


def rand_dims(r, n):
    return [r.randint(1, MAX_DIM) for _ in range(n)]


def generate(seed):
    m = Model(seed)
    r = m.r
    batch = r.choice([1, 2, 3, 5, 5, 3])
    kind = r.choice(["image", "image", "flat", "flat", "seq"])
    inputs = []
    if kind == "image":
        s = (r.randint(1, 4), r.randint(3, MAX_DIM), r.randint(3, MAX_DIM))
    elif kind == "flat":
        s = (r.randint(2, MAX_DIM),)
    else:
        s = (r.randint(2, 6), r.randint(2, MAX_DIM))
    inputs.append(("x", s))
    m.pool.append(("x", s))
    if r.random() < 0.15:  # integer ids and their embedding
        vocab, steps, dim = r.randint(2, MAX_DIM), r.randint(1, 6), r.randint(1, MAX_DIM)
        inputs.append(("ids", None, f"class({vocab})[batch, {steps}]"))
        init = r.choice(["", ", init=normal(0.5)", ", init=uniform(1)"])
        m.lines.append(f"e = embedding(ids, {vocab}, {dim}{init})")
        m.pool.append(("e", (steps, dim)))
    elif r.random() < 0.25:  # a second input, broadcast or concatenated later
        s2 = tuple(s[len(s) - r.randint(1, len(s)):])
        inputs.append(("x2", s2))
        m.pool.append(("x2", s2))
    for _ in range(r.randint(2, 8)):
        x = m.pick()
        for _ in range(10):
            applies, fn, _ = r.choices(OPS, [w for _, _, w in OPS])[0]
            if applies(x[1]) and fn(m, x[0], x[1]) is not None:
                break
    body = m.lines
    if batch == 2 and any("batchnorm(" in line for line in body):
        # Batch norm over 2 rows gives exactly -a and a: any value symmetric in
        # them (abs, square) is constant over the batch in exact arithmetic,
        # so a later batch norm divides rounding noise by sqrt(eps). Such a
        # model measures f32 noise, not the compiler.
        batch = 3
    last_name, last_shape = m.pool[-1]

    head, labels, outputs, loss_terms = [], [], [], []
    h = last_name
    if len(last_shape) != 1:
        head.append(f"h = flatten({h})")
        h = "h"
    width = math.prod(last_shape)
    if width > 81:
        head.append(f"h = dense({h}, {r.randint(2, MAX_DIM)})")
    tasks = r.choice([1, 1, 1, 2])
    for t in range(tasks):
        loss = r.choice(["softmax_ce", "softmax_ce", "sigmoid_ce", "mse", "custom"])
        y = f"y{t + 1}"
        if loss == "softmax_ce":
            classes = r.randint(2, MAX_DIM)
            labels.append(f"label {y} : class({classes})[batch]")
            head.append(f"logits{t + 1} = dense({h}, {classes})")
            opts = ""
            if r.random() < 0.3:
                opts += f", label_smoothing={fmt_num(r.uniform(0, 0.3))}"
            if r.random() < 0.3:
                opts += ", weights=(" + ", ".join(fmt_num(r.uniform(0.2, 2)) for _ in range(classes)) + ")"
            outputs.append(f"output probs{t + 1} = softmax(logits{t + 1})")
            loss_terms.append(f"softmax_cross_entropy(logits{t + 1}, {y}{opts})")
        elif loss in ("sigmoid_ce", "mse"):
            k = r.randint(1, MAX_DIM)
            labels.append(f"label {y} : f32[batch, {k}]")
            head.append(f"pred{t + 1} = dense({h}, {k})")
            outputs.append(f"output pred{t + 1}")
            fn = "sigmoid_cross_entropy" if loss == "sigmoid_ce" else "mse"
            loss_terms.append(f"{fn}(pred{t + 1}, {y})")
        else:
            head.append(f"score{t + 1} = dense({h}, {r.randint(1, 4)})")
            outputs.append(f"output score{t + 1}")
            loss_terms.append(f"mean(score{t + 1} * score{t + 1})")
    # Values nobody reads become outputs: every branch of the DAG is checked.
    import re
    read = set()
    for line in body + head:
        if not line.startswith("param "):
            read.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", line.split("=", 1)[1]))
    for name, _ in m.pool[:-1]:
        if name not in read and not name.startswith("x") and name != "e":
            outputs.append(f"output {name}")

    with_loss = r.random() < 0.85
    text = [f"# fuzz: batch={batch} seed={seed}", f"model fuzz_{seed}", ""]
    for name, shape, *declared in inputs:
        if declared:
            text.append(f"input {name} : {declared[0]}")
        else:
            text.append(f"input {name} : f32[batch, {', '.join(map(str, shape))}]")
    if with_loss:
        text += labels
    text.append("")
    text += body + head + [""] + outputs
    if with_loss:
        if tasks == 2:
            w = r.uniform(0.2, 0.8)
            total = f"{fmt_num(w)} * {loss_terms[0]} + {fmt_num(1 - w)} * {loss_terms[1]}"
        else:
            total = loss_terms[0]
        reg = r.random()
        if reg < 0.25:
            total += f" + l2({fmt_num(r.uniform(1e-3, 1e-1))})"
        elif reg < 0.4:
            total += f" + l1({fmt_num(r.uniform(1e-3, 1e-1))})"
        text.append(f"loss {total}")
        text += ["", "train {", f"  batch = {batch}", f"  optimizer = {optimizer(r)}"]
        if r.random() < 0.2:
            text.append(f"  max_norm = {fmt_num(r.uniform(0.5, 3))}")
        text.append("}")
    else:
        # Outputs were written before: a forward-only model keeps them.
        pass
    return "\n".join(text) + "\n"


def optimizer(r):
    lr = fmt_num(10 ** r.uniform(-3, -1))
    kind = r.choice(["sgd", "sgd_m", "momentum", "rmsprop", "adam", "adamw"])
    wd = f", weight_decay={fmt_num(r.uniform(0, 0.1))}" if r.random() < 0.3 else ""
    if kind == "sgd":
        return f"sgd(lr={lr}{wd})"
    if kind == "sgd_m":
        nest = ", nesterov=true" if r.random() < 0.5 else ""
        return f"sgd(lr={lr}, momentum={fmt_num(r.uniform(0, 0.95))}{nest}{wd})"
    if kind == "momentum":
        nest = ", nesterov=true" if r.random() < 0.5 else ""
        return f"momentum(lr={lr}, beta={fmt_num(r.uniform(0, 0.95))}{nest}{wd})"
    if kind == "rmsprop":
        return f"rmsprop(lr={lr}, beta={fmt_num(r.uniform(0.5, 0.99))}, eps={fmt_num(r.choice([1e-8, 1e-6, 1e-3]))}{wd})"
    b1, b2 = fmt_num(r.uniform(0.5, 0.95)), fmt_num(r.uniform(0.9, 0.999))
    return f"{kind}(lr={lr}, beta1={b1}, beta2={b2}{wd})"


def main(argv):
    import os
    args = [a for a in argv[1:] if not a.startswith("--")]
    out = None
    if "--out" in argv:
        out = argv[argv.index("--out") + 1]
        args.remove(out)
    seed = int(args[0]) if args else 1
    count = int(args[1]) if len(args) > 1 else 1
    if out is None:
        for s in range(seed, seed + count):
            sys.stdout.write(generate(s))
        return 0
    os.makedirs(out, exist_ok=True)
    for s in range(seed, seed + count):
        with open(os.path.join(out, f"case-{s}.nn"), "w") as f:
            f.write(generate(s))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
