"""The rule that turns numbers into a verdict, written once: the verdict words and how comparisons fold into one
(``words``), the fraction of a gap closed with its paired interval and the effect words its thresholds give
(``effect``), the bootstrap over training seeds and crops (``seeds``), and the general rules' texts. The studies read
numbers from their results and call these; the book's pages show the texts defined here."""
