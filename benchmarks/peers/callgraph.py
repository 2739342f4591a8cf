# Call graph of five functions, N = 2,000,000 rounds of 4 or 6 calls; prints 487998. Size: first argument.
import sys


def leaf_a(x):
    return (x * 3 + 1) % 1000003


def leaf_b(x):
    return (x + 7) % 1000003


def mid_a(x):
    return leaf_a(x) + leaf_b(x)


def mid_b(x):
    return leaf_b(mid_a(x))


def top(x, i):
    if i % 3 == 0:
        return mid_a(x)
    return mid_b(x)


def rounds(n):
    s = 0
    for i in range(n):
        s = (s + top(s, i)) % 1000003
    return s


print(rounds(int(sys.argv[1]) if len(sys.argv) > 1 else 2000000))
