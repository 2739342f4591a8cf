# Binary trees (make/check), maximum depth D = 16 by default; prints 14723759. Size: first argument.
# A node is a two-slot list [left, right]; a leaf keeps both slots None.
import sys

sys.setrecursionlimit(10000)


def make(depth):
    node = [None, None]
    if depth > 0:
        node[0] = make(depth - 1)
        node[1] = make(depth - 1)
    return node


def check(node):
    if node[0] is None:
        return 1
    return 1 + check(node[0]) + check(node[1])


def trees(max_depth):
    long_lived = make(max_depth)
    total = 0
    depth = 4
    while depth <= max_depth:
        iterations = 1
        for _ in range(max_depth - depth + 4):
            iterations = iterations * 2
        for _ in range(iterations):
            total = total + check(make(depth))
        depth = depth + 2
    return total + check(long_lived)


print(trees(int(sys.argv[1]) if len(sys.argv) > 1 else 16))
