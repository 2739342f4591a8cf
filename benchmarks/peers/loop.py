# sum = (sum + i) % 1000003 for i in 0..N-1; prints 45150 for N = 100,000,000. Size: first argument.
import sys


def main(n):
    sum = 0
    i = 0
    while i < n:
        sum = (sum + i) % 1000003
        i = i + 1
    return sum


print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100000000))
