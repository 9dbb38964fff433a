@problemName Stamped
@timeStamps true
@classLabel true a b
@data
(2007-01-01 00:00:00,1.0),(2007-01-02 00:00:00,2.0):a
