"""The study-report tables: CSR-style tables as data, one renderer per format.

* :mod:`cart19.tables.table` - :class:`StudyTable` (a numbered, titled table of display text,
  with the population and the rules in its footnotes) and the CSR number formats;
* :mod:`cart19.tables.build` - small pure functions from the engines' frames to tables, and
  :func:`cart19.tables.build.study_tables`, the catalogue in report order;
* :mod:`cart19.tables.rtf` (rtflite) and :mod:`cart19.tables.docx` (python-docx) - render any list
  of tables, one table per page, into the bytes of one file.

Adding a table is writing one builder and adding it to the catalogue; the renderers do not
change.
"""
