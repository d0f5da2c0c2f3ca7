Segment.main()
