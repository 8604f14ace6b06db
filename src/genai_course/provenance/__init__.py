"""Where a piece of content came from (chapter 8): a green-list text watermark and a signed provenance manifest."""
