"""Writes the real-file test inputs of tests/real_files.rs the way pandas and R do.

Run once with pandas (3.x) to regenerate: python make_files.py. The outputs are
committed; the Rust tests read them and never need Python.
"""
import gzip
import numpy as np
import pandas as pd

X = np.loadtxt("../../../../../shared/fixtures/iris_full/X.csv", delimiter=",")
names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
species = np.repeat(["setosa", "versicolor", "virginica"], 50)
df = pd.DataFrame(X, columns=names)

# The clean reference: a header, the four features, nothing else.
df.to_csv("iris.csv", index=False)
# pandas' default: the index as an unnamed first column, and a text column.
df.assign(species=species).to_csv("iris_pandas_index.csv")
# DataFrame(X).to_csv(index=False): the header is 0,1,2,3.
pd.DataFrame(X).to_csv("iris_numeric_header.csv", index=False)
# Columns in another order, with the species in the middle.
df.assign(species=species)[["petal_width", "species", "sepal_length", "petal_length", "sepal_width"]].to_csv(
    "iris_reordered.csv", index=False
)
# European spreadsheets: semicolons and decimal commas.
df.to_csv("iris_semicolon.csv", sep=";", decimal=",", index=False)
# Missing cells: pandas writes NaN as an empty field; R writes NA.
na = df.copy()
na.iloc[3, 1] = np.nan
na.iloc[10, 0] = np.nan
na.to_csv("iris_missing.csv", index=False, na_rep="")
text = open("iris_missing.csv").read().splitlines()
text[21] = text[21].replace(text[21].split(",")[2], "NA", 1)  # row 20: petal_length NA
open("iris_missing.csv", "w").write("\n".join(text) + "\n")
# gzip, as pandas writes it for a .gz name.
df.to_csv("iris.csv.gz", index=False, compression={"method": "gzip", "mtime": 0})
# R's write.csv: quoted names, row names in an unnamed first column.
with open("iris_r.csv", "w") as f:
    f.write('"",' + ",".join(f'"{n}"' for n in names) + ',"species"\n')
    for i, (row, s) in enumerate(zip(X, species)):
        f.write(f'"{i + 1}",' + ",".join(repr(float(v)) for v in row) + f',"{s}"\n')
# Quoted ids with commas and doubled quotes, and a header name with a comma.
with open("iris_quoted.csv", "w") as f:
    f.write('id,"sepal, length",sepal_width,petal_length,petal_width\n')
    for i, row in enumerate(X):
        who = f'"Smith, John {i}"' if i % 2 == 0 else f'"a ""b"" {i}"'
        f.write(who + "," + ",".join(repr(float(v)) for v in row) + "\n")
