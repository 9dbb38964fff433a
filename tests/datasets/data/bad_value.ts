@problemName BadValue
@classLabel true a b
@data
1,2,3:a
1,two,3:b
