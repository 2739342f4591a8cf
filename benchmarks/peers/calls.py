# s = add3(s, i, 1) for i in 0..N-1; prints 50000005000000 for N = 10,000,000. Size: first argument.
import sys


def add3(a, b, c):
    return a + b + c


def main(n):
    s = 0
    for i in range(n):
        s = add3(s, i, 1)
    return s


print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000000))
