# Sieve up to N = 2,000,000, 5 repetitions; prints 148933. Size: first argument.
import sys


def main(n):
    count = 0
    for _ in range(5):
        flags = [False] * (n + 1)
        for i in range(2, n + 1):
            flags[i] = True
        i = 2
        while i * i <= n:
            if flags[i]:
                j = i * i
                while j <= n:
                    flags[j] = False
                    j = j + i
            i = i + 1
        count = 0
        for k in range(2, n + 1):
            if flags[k]:
                count = count + 1
    return count


print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000000))
