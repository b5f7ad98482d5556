import multiprocessing
import warnings

def work(x):
    return x * 2

if __name__ == "__main__":
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        print("OUT:", pool.map(work, [1, 2, 3]))
    warnings.warn("careful")
