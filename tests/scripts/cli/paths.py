import os
import sys

print("PATH0:", sys.path[0])
print("FILE:", __file__)
os.chdir(os.path.dirname(os.getcwd()))
import sibling

print("SIBLING:", sibling.VALUE)
