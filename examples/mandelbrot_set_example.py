"""The Mandelbrot set, computed with numpy: pikos' memory-monitor demo.

``mandelbrot`` is the Mandelbrot example of the "Tentative NumPy Tutorial"
(SciPy wiki), ported to Python 3.  Its statements are kept one per line, so a
line memory monitor records the memory each one allocates, and ``pikos plot``
draws it::

    pikos-run line_memory examples/mandelbrot_set_example.py \\
        --recording csv --focused-on=mandelbrot
    pikos plot monitor_records.csv -o memory.png

Run on its own it prints a one-line summary; ``--show`` displays the image
and ``--save FILE.png`` writes it, both with matplotlib, which is imported
only then.  numpy is the only other requirement.
"""

import argparse

import numpy as np


def mandelbrot(h, w, maxit=20):
    """Returns an image of the Mandelbrot fractal of size (h,w)."""
    y, x = np.ogrid[-1.4:1.4:h * 1j, -2:0.8:w * 1j]
    c = x + y * 1j
    z = c
    divtime = maxit + np.zeros(z.shape, dtype=int)

    for i in range(maxit):
        z = z**2 + c
        diverge = z * np.conj(z) > 2**2  # who is diverging
        div_now = diverge & (divtime == maxit)  # who is diverging now
        divtime[div_now] = i  # note when
        z[diverge] = 2  # avoid diverging too much

    return divtime


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Compute the Mandelbrot set with numpy."
    )
    parser.add_argument(
        "--size", type=int, default=400, metavar="N", help="image size (default 400)"
    )
    parser.add_argument(
        "--maxit", type=int, default=20, metavar="N", help="iterations (default 20)"
    )
    parser.add_argument(
        "--show", action="store_true", help="display the image (needs matplotlib)"
    )
    parser.add_argument(
        "--save", metavar="FILE.png", help="save the image (needs matplotlib)"
    )
    args = parser.parse_args(argv)

    image = mandelbrot(args.size, args.size, args.maxit)
    inside = int(np.count_nonzero(image == args.maxit))
    print(
        f"mandelbrot {args.size}x{args.size}, maxit {args.maxit}: "
        f"{inside} points never diverged"
    )
    if args.save:
        from matplotlib.figure import Figure  # no pyplot: no display needed

        figure = Figure()
        figure.add_subplot().imshow(image)
        figure.savefig(args.save)
    if args.show:
        from matplotlib import pyplot

        pyplot.imshow(image)
        pyplot.show()


if __name__ == "__main__":
    main()
