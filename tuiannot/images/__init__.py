"""Images: everything the image views need that is not a screen.

- :mod:`.decode`: reading, content hashes, EXIF orientation, checked decoding, fitting, the decoded-image cache.
- :mod:`.tasks`: image tasks and lazy streams from a folder or a task file; boxes as Prodigy stores them.
- :mod:`.export`: COCO JSON and a folder per label.
- :mod:`.render`: pure encoders from an image to terminal cells or escape sequences (half-blocks, ASCII,
  Kitty graphics, Sixel).
- :mod:`.terminal`: asking the terminal which of those it can show (the only terminal I/O here).

Pillow is imported only when an image is touched, so importing this package is cheap. Nothing here
imports Textual; :mod:`.render` builds Rich segments, which is its job.
"""
